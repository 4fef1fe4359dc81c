"""State shared by every request: request records, `times` counters, Gemini files and uploads,
TwelveLabs assets.

Every value is a mutable container that is changed in place (never rebound), so modules can
import the names directly. Take STATE_LOCK around every access.
"""

import threading

SHUTDOWN = threading.Event()
STATE_LOCK = threading.Lock()
TIMES_COUNTERS = {}
FILES = {}            # id -> dict(file object fields + bookkeeping)
UPLOADS = {}          # upload_id -> dict
ASSETS = {}           # TwelveLabs asset _id -> dict (see twelvelabs_assets.py)
REQUESTS = []         # recorded requests
REQUEST_SEQ = [0]
MAX_RECORDS = 500
MEDIA_DIR = [None]
LOG_REQUESTS = [False]
