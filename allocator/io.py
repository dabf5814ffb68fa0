"""Reading input tables (Parquet or CSV) and writing run folders atomically.

No business rules live here: this module turns files into raw frames and back, and
``schema.py`` decides what the cells mean.
"""

from __future__ import annotations

import io as _io
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import InputError, Issue

CSV_SUFFIXES = (".csv",)
PARQUET_SUFFIXES = (".parquet", ".pq")
# utf-8-sig reads plain UTF-8 too and drops a BOM; GBK is what Chinese Excel/CRM exports use.
CSV_ENCODINGS = ("utf-8-sig", "gbk")

UNDECODABLE = "cannot decode the file as UTF-8 or GBK; re-export it as UTF-8"


def unsupported_type(suffix: str) -> str:
    """The message for a file that is neither CSV nor Parquet."""
    return f'unsupported file type "{suffix}"; use a .csv, .parquet or .pq file'


@dataclass(frozen=True, slots=True)
class RawTable:
    """A table as read from disk, before validation.

    name: the file name (e.g. ``"customers.csv"``), used in every message.
    frame: for CSV every cell is text (``""`` when empty) and the index is the record
        number from 0, so spreadsheet row = index + 2; for Parquet the types are kept.
    is_csv: whether rows are reported as spreadsheet rows (CSV) or record numbers.
    """

    name: str
    frame: pd.DataFrame
    is_csv: bool


def read_table(path: str | Path) -> RawTable:
    """Read one input table from a CSV (UTF-8, UTF-8 with BOM, or GBK) or Parquet file.

    Raises
    ------
    InputError
        When the file is missing, has an unsupported extension, cannot be decoded or
        cannot be parsed.
    """
    path = Path(path)
    name = path.name
    suffix = path.suffix.lower()
    if not path.is_file():
        raise InputError(Issue(name, None, None, f"file not found: {path}"))
    if suffix not in CSV_SUFFIXES + PARQUET_SUFFIXES:
        raise InputError(Issue(name, None, None, unsupported_type(suffix)))
    if suffix in CSV_SUFFIXES:
        frame = _read_csv(path)
    else:
        frame = _read_parquet(path)
    frame.columns = [str(c).strip() for c in frame.columns]
    return RawTable(name, frame, suffix in CSV_SUFFIXES)


def _read_csv(path: Path) -> pd.DataFrame:
    data = path.read_bytes()
    for encoding in CSV_ENCODINGS:
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(Issue(path.name, None, None, UNDECODABLE))
    if not text.strip():
        return pd.DataFrame()
    try:
        # Blank lines are kept (as rows of empty cells) so that index + 2 stays the
        # row number a spreadsheet shows; schema drops them.
        frame = pd.read_csv(_io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(Issue(path.name, None, None, f"not a readable CSV file: {_first_line(exc)}")) from None
    return frame.fillna("")


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(Issue(path.name, None, None, f"not a readable Parquet file: {_first_line(exc)}")) from None
    # A frame written with a named index (e.g. customer_id) gets it back as a column;
    # row numbers must be record numbers, so the index is always 0..n-1.
    named = [n for n in frame.index.names if n is not None]
    return frame.reset_index(drop=not named)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def write_run(out_dir: str | Path, writers: dict[str, Callable[[Path], None]]) -> None:
    """Write a run folder so that all its files appear together or not at all.

    Each writer is called with its target path inside a temporary sibling folder; only
    when every writer succeeded does the folder replace ``out_dir``.

    Parameters
    ----------
    out_dir
        The run folder; an existing one is replaced as a whole.
    writers
        File name (relative to the run folder) -> function writing that file.

    Raises
    ------
    Exception
        Whatever a writer raised; the temporary folder is removed and an existing
        ``out_dir`` is left untouched.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(Issue(str(out_dir), None, None, "the output path exists and is not a folder; choose another one"))
    parent = out_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = _make_sibling_dir(parent, f".{out_dir.name}.tmp-")
    try:
        for file_name, write in writers.items():
            target = tmp / file_name
            target.parent.mkdir(parents=True, exist_ok=True)
            write(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    backup: Path | None = None
    try:
        if out_dir.exists():
            backup = parent / f".{out_dir.name}.old-{secrets.token_hex(4)}"
            os.rename(out_dir, backup)
        os.rename(tmp, out_dir)
    except BaseException:
        # Put the previous run back before reporting the failure.
        if backup is not None and backup.exists() and not out_dir.exists():
            os.rename(backup, out_dir)
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if backup is not None:
        shutil.rmtree(backup, ignore_errors=True)


def _make_sibling_dir(parent: Path, prefix: str) -> Path:
    # os.mkdir honours the umask (tempfile.mkdtemp would make it 0700, unreadable to
    # the managers who review the run).
    while True:
        candidate = parent / f"{prefix}{secrets.token_hex(4)}"
        try:
            os.mkdir(candidate)
            return candidate
        except FileExistsError:
            continue


def write_file_atomic(path: str | Path, write: Callable[[Path], None]) -> None:
    """Write one file atomically: ``write`` fills a temporary file next to ``path``, which then replaces it.

    Raises
    ------
    Exception
        Whatever ``write`` raised; the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Keep the suffix so writers that infer the format from it still work.
    tmp = path.with_name(f".{path.stem}.tmp-{secrets.token_hex(4)}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
