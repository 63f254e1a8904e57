"""The web replicas' health check (docker-compose.yml): can this replica serve?

Asks the replica's /ready/ (throughline/health.py: gunicorn answers with Django behind it,
the database answers with its migrations applied, Redis and the broker answer), which is
answered whatever the host name and without the redirect to HTTPS. Prints the checks that
failed. Standard library only: it runs every few seconds, and loading Django for it would
cost a second of CPU.

    python deploy/web_health.py [PORT [PATH]]     (8000, /ready/; /health/ asks only for
                                                   the process)
"""

from __future__ import annotations

import http.client
import json
import sys


def main(port: int = 8000, path: str = "/ready/") -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
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
