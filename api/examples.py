"""Request and response examples of the mini-program's main calls, shown in the
API reference. tests/api/test_openapi.py makes the same calls and checks that
each example has the shape of the real answer (and that request examples load).
"""

USER = {
    "id": 42, "nickname": "微信用户", "phone": "139****5678", "home_org_id": 5,
    "roles": [],
    "volunteer": {"id": 7, "status": "active", "real_name": "刘思远", "volunteer_no": "LL202600000007"},
}

STAFF_LOGIN_IN = {"phone": "13800000000", "password": "linli-demo-2026"}
WECHAT_LOGIN_IN = {"code": "0a3Xyz000abcDEF1"}
TOKEN_PAIR_OUT = {
    "access_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiI0MiJ9.c2lnbmF0dXJl",
    "refresh_token": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJqdGkiOiJyZWZyZXNoIn0.c2lnbmF0dXJl",
    "token_type": "Bearer", "expires_in": 1800, "user": USER,
}

ACTIVITY = {
    "id": 101, "org_id": 5, "title": "重阳节长者关怀茶话会", "description": "和社区长者一起包饺子、聊家常。",
    "domain": "elderly_care", "category": "关怀服务", "location": "花园社区活动室",
    "starts_at": "2026-10-18T09:00:00+08:00", "ends_at": "2026-10-18T11:00:00+08:00",
    "capacity": 30, "volunteer_slots": 5, "points_per_hour": 10, "rounding": "minute",
    "attendance_points": 2, "allow_walk_in": False, "checkin_opens_before_min": 30,
    "checkin_closes_after_min": 30, "geofence": {"lat": 30.6123, "lng": 114.3056, "radius_m": 300},
    "status": "published", "created_at": "2026-10-08T15:20:00+08:00",
    "published_at": "2026-10-08T15:30:00+08:00", "cancelled_at": None,
}
ACTIVITY_PAGE_OUT = {"items": [ACTIVITY], "next": "WyIyMDI2LTEwLTE4VDAxOjAwOjAwKzAwOjAwIiwgMTAxXQ"}

REGISTRATION_IN = {"role": "volunteer"}
REGISTRATION_OUT = {
    "id": 3001, "activity_id": 101, "user_id": 42, "role": "volunteer", "status": "confirmed",
    "method": "self", "registered_at": "2026-10-10T20:05:11+08:00",
    "checked_in_at": None, "checked_out_at": None,
}

CHECKIN_IN = {"code": "c1Ab2Cd3Ef4Gh5Ij6Kl7Mn8Op9Qr0", "action": "in", "lat": 30.6124, "lng": 114.3057}
CHECKIN_OUT = {
    "registration_id": 3001, "activity_id": 101, "status": "checked_in", "first": True,
    "checked_in_at": "2026-10-18T08:52:40+08:00", "checked_out_at": None, "scan_id": 9001,
}

POINTS_OUT = {"balance": 120, "held": 20, "available": 100}

REDEMPTION_OUT = {
    "id": 501, "benefit_id": 12, "benefit_name": "爱心理发券", "org_id": 5, "user_id": 42,
    "code": "K7QXMP4D9TZA3", "status": "reserved", "cost": 20,
    "expires_at": "2026-10-27T10:00:00+08:00", "created_at": "2026-10-20T10:00:00+08:00",
    "fulfilled_at": None, "cancelled_at": None, "expired_at": None, "corrected_at": None,
    "correction_reason": None,
}
