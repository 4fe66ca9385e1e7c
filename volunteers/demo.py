"""Demo volunteers' details for the embedded server (`flask demo load`); idempotent."""


def demo_volunteers(orgs, people, now, settings):
    """The demo volunteers' skills and privacy consent; a profile already edited is left alone."""
    details = {"volunteer": ["助老陪伴", "智能手机教学"], "volunteer2": ["儿童课业辅导", "急救"]}
    for key, skills in details.items():
        profile = people[key].volunteer
        if profile is not None and not profile.skills and profile.consented_at is None:
            profile.skills = skills
            profile.consent_version = "2026-11"
            profile.consented_at = now
