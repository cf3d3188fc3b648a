# The same day-month-year and 24-hour time as in English ("2 dec 2026 16:05"), so every
# screen and mail shows a moment one way; Django's Dutch default spells the month out.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H:i"
SHORT_DATETIME_FORMAT = "j M Y H:i"
