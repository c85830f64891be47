"""Any SQL database SQLAlchemy reaches (EDGE): every value of a query's first column is a reference.

Fails closed like every source: a NULL, a value that is not a string, a failing query or a missing table
refuses the run. No password is ever recorded: the URL is given as ``env:VAR`` (read from the environment
each time the source is read, at plan and again at apply), or is a URL without a password (SQLite, IAM or
Kerberos authentication); a URL with a password is refused before anything connects. SQLite's driver
creates a missing database file silently, so a missing file is refused first.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from artifact_gc.errors import ReferenceParseError, RegistryError, UsageError
from artifact_gc.registry.base import Reference, url_from_env


def check_sql_url(url: str) -> None:
    """Refuse a URL that would put a password in the plan, the logs or the command line (exit 2)."""
    if url.startswith("env:"):
        if not url[len("env:") :].strip():
            raise UsageError("--registry-sql env:: name the environment variable that holds the URL")
        return
    try:
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError
    except ImportError as exc:
        raise UsageError(SQL_EXTRA_MESSAGE) from exc
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UsageError(f"--registry-sql: not a database URL ({exc})") from None
    if parsed.password:
        raise UsageError(
            "--registry-sql: the URL holds a password, which would land in the plan and the logs: put the URL in "
            "an environment variable and pass --registry-sql env:VAR"
        )


SQL_EXTRA_MESSAGE = "the SQL registry source needs SQLAlchemy: pip install 'artifact-gc[sql]'"


@dataclass
class SqlSource:
    url: str  # a URL without a password, or env:VAR
    query: str
    rows_read: int = 0

    @property
    def name(self) -> str:
        return f"sql:{self.url}"

    def spec(self) -> dict[str, Any]:
        return {"type": "sql", "url": self.url, "query": self.query}

    def references(self) -> Iterator[Reference]:
        try:
            import sqlalchemy
            from sqlalchemy.exc import SQLAlchemyError
        except ImportError as exc:
            raise RegistryError(SQL_EXTRA_MESSAGE) from exc
        text = url_from_env(self.url, self.name)
        try:
            url = sqlalchemy.engine.make_url(text)
        except sqlalchemy.exc.ArgumentError as exc:
            raise RegistryError(f"{self.name}: not a database URL ({exc})") from None
        sqlite_file = url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:")
        if sqlite_file and not Path(str(url.database)).is_file():
            raise RegistryError(f"{self.name}: the SQLite database {url.database} does not exist")
        engine = sqlalchemy.create_engine(url)
        try:
            with engine.connect() as connection:
                result = connection.execution_options(stream_results=True).execute(
                    sqlalchemy.text(self.query)
                )
                for number, row in enumerate(result, start=1):
                    self.rows_read += 1
                    value = row[0] if len(row) else None
                    origin = f"{self.name} row {number} of the query"
                    if not isinstance(value, str):
                        raise ReferenceParseError(
                            f"{origin}: value {value!r} is not a string (NULL and numbers protect nothing we can name)"
                        )
                    yield Reference(value, origin)
        except SQLAlchemyError as exc:
            detail = " ".join(str(exc).split())[:300]
            raise RegistryError(f"{self.name}: the query failed: {detail}") from None
        finally:
            engine.dispose()
