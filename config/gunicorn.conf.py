"""gunicorn's settings: `gunicorn -c config/gunicorn.conf.py config.wsgi:application`.

The proxy in front decides whether a request came over HTTPS. gunicorn believes its
X-Forwarded-Proto only from FORWARDED_ALLOW_IPS (the proxy's addresses or networks, comma
separated; default this machine) and sets the request's scheme from it; from any other
client the header changes nothing. Django reads the same variable to find the client's
address behind that proxy (customers/security.py).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
timeout = 30
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}
accesslog = "-"
