"""The web replicas' health check (docker-compose.yml): does this replica's gunicorn answer
with Django behind it?

Asks for the sign-in page as the proxy would, with the first of ALLOWED_HOSTS as its host and
X-Forwarded-Proto: https, so that the answer is the page itself rather than a redirect to
HTTPS or a refused host name (which Django would log as an error every time). Standard
library only: it runs every few seconds, and loading Django for it would cost a second of CPU.
"""

from __future__ import annotations

import http.client
import os
import sys


def main(port: int = 8000) -> int:
    hosts = [h.strip().lstrip(".") for h in os.environ.get("ALLOWED_HOSTS", "").split(",")]
    host = next((h for h in hosts if h and "*" not in h), "localhost")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(
            "GET", "/accounts/login/", headers={"Host": host, "X-Forwarded-Proto": "https"}
        )
        status = connection.getresponse().status
    except OSError as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"unhealthy: the sign-in page answered {status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*(int(arg) for arg in sys.argv[1:2])))
