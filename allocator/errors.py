"""Exception types raised by the library; only ``cli.py`` turns them into exit codes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in an input file.

    ``row`` is the row as a spreadsheet shows it for CSV (header = row 1) and the
    1-based record number for Parquet; ``None`` when the problem concerns the whole
    column or file.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", column {self.column}"
        return f"{where}: {self.message}" if where else self.message

    def sort_key(self) -> tuple[str, int, str]:
        return (self.file, -1 if self.row is None else self.row, self.column or "")


class AllocatorError(Exception):
    """Base class of every error the library raises on purpose."""


class InputError(AllocatorError):
    """Invalid input: carries every problem found, sorted by file, row and column."""

    def __init__(self, issues: list[Issue] | Issue | str) -> None:
        if isinstance(issues, str):
            issues = [Issue("", None, None, issues)]
        elif isinstance(issues, Issue):
            issues = [issues]
        self.issues: list[Issue] = sorted(issues, key=Issue.sort_key)
        super().__init__(self.render())

    def render(self) -> str:
        if len(self.issues) == 1:
            return str(self.issues[0])
        lines = [f"{len(self.issues)} problems in the input:"]
        lines += [f"  {issue}" for issue in self.issues]
        return "\n".join(lines)


class PolicyError(AllocatorError):
    """The policy cannot be met (infeasible hard rules) or is itself invalid."""
