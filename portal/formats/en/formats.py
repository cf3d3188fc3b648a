# Bookkeepers read 24-hour times and day-month-year; Django's English default is
# "Nov. 25, 2026, 10:25 p.m.", which stands out beside the History table.
DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y H:i"
SHORT_DATETIME_FORMAT = "j M Y H:i"
