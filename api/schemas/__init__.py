"""Request and response schemas. Importing the package first makes every
validation message Chinese (fields and validators copy theirs when built)."""
from .messages import use_chinese_messages

use_chinese_messages()
