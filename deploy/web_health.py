"""The web replicas' health check (docker-compose.yml): can this replica serve?

Asks the replica's /ready/ (throughline/health.py: gunicorn answers with Django behind it,
the database answers with its migrations applied, Redis and the broker answer) as the proxy
would, with the first of ALLOWED_HOSTS as its host and X-Forwarded-Proto: https, so that the
answer is the check itself rather than a redirect to HTTPS or a refused host name (which
Django would log as an error every time). Prints the checks that failed. Standard library
only: it runs every few seconds, and loading Django for it would cost a second of CPU.

    python deploy/web_health.py [PORT [PATH]]     (8000, /ready/; /health/ asks only for
                                                   the process)
"""

from __future__ import annotations

import http.client
import json
import os
import sys


def main(port: int = 8000, path: str = "/ready/") -> int:
    hosts = [h.strip().lstrip(".") for h in os.environ.get("ALLOWED_HOSTS", "").split(",")]
    host = next((h for h in hosts if h and "*" not in h), "localhost")
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host, "X-Forwarded-Proto": "https"})
        response = connection.getresponse()
        status, body = response.status, response.read()
    except OSError as error:
        print(f"unhealthy: {error}", file=sys.stderr)
        return 1
    finally:
        connection.close()
    if status != 200:
        try:
            checks = json.loads(body)["checks"]
            failed = ", ".join(
                f"{name} ({check.get('detail', 'failed')})"
                for name, check in checks.items()
                if not check.get("ok")
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            failed = ""
        print(
            f"unhealthy: {path} answered {status}" + (f": {failed}" if failed else ""),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    args = sys.argv[1:3]
    sys.exit(main(*([int(args[0])] if args else []), *args[1:2]))
