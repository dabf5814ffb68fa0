"""Tests of allocator.io: reading CSV/Parquet tables and atomic run-folder writes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from allocator.errors import InputError
from allocator.io import read_table, write_file_atomic, write_run

DATA = Path(__file__).parent / "data"


def write_text(text: str) -> Callable[[Path], None]:
    """A writer that writes ``text`` to the path it is given."""
    return lambda path: path.write_text(text)


def fail(path: Path) -> None:
    """A writer that starts a file, then fails."""
    path.write_text("half")
    raise RuntimeError("disk full")


def siblings(out_dir: Path) -> list[str]:
    return sorted(p.name for p in out_dir.parent.iterdir())


def test_csv_cells_are_text_and_headers_stripped(tmp_path: Path) -> None:
    """CSV cells stay text exactly as written (ids like 007), empty cells are "", headers are stripped."""
    path = tmp_path / "customers.csv"
    path.write_text(" customer_id , value\n007,1.50\nC2,\n")
    raw = read_table(path)
    assert raw.name == "customers.csv" and raw.is_csv
    assert list(raw.frame.columns) == ["customer_id", "value"]
    assert raw.frame.to_dict("list") == {"customer_id": ["007", "C2"], "value": ["1.50", ""]}


def test_gbk_and_bom_csv_decode(tmp_path: Path) -> None:
    """GBK and UTF-8-with-BOM files read to the same text as plain UTF-8."""
    plain = read_table(DATA / "customers_zh.csv").frame
    for name in ("customers_bom.csv", "customers_gbk.csv"):
        pd.testing.assert_frame_equal(read_table(DATA / name).frame, plain)
    assert plain.columns[0] == "customer_id"  # no BOM left in the first header


def test_undecodable_csv_is_an_input_error() -> None:
    """A file that is neither UTF-8 nor GBK names the file and says how to fix it."""
    with pytest.raises(InputError) as info:
        read_table(DATA / "customers_undecodable.csv")
    assert str(info.value) == "customers_undecodable.csv: cannot decode the file as UTF-8 or GBK; re-export it as UTF-8"


def test_missing_file_is_an_input_error(tmp_path: Path) -> None:
    """A missing file gives "file not found" with its path."""
    path = tmp_path / "customers.csv"
    with pytest.raises(InputError) as info:
        read_table(path)
    assert str(info.value) == f"customers.csv: file not found: {path}"


def test_unsupported_extension_is_an_input_error(tmp_path: Path) -> None:
    """Files other than CSV and Parquet are refused with the accepted formats."""
    path = tmp_path / "customers.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(InputError) as info:
        read_table(path)
    assert str(info.value) == 'customers.xlsx: unsupported file type ".xlsx"; use a .csv, .parquet or .pq file'


def test_empty_csv_reads_as_empty_frame(tmp_path: Path) -> None:
    """A zero-byte CSV is an empty frame (schema reports it), not a parser crash."""
    path = tmp_path / "reps.csv"
    path.write_text("")
    assert read_table(path).frame.shape == (0, 0)


def test_parquet_keeps_types_and_index(tmp_path: Path) -> None:
    """Parquet keeps its dtypes and list columns; a named index comes back as a column."""
    frame = pd.DataFrame({"customer_id": ["C1", "C2"], "value": [1.5, 2.0], "products": [["a"], []]})
    frame.set_index("customer_id").to_parquet(tmp_path / "customers.pq")
    raw = read_table(tmp_path / "customers.pq")
    assert not raw.is_csv
    assert list(raw.frame.columns) == ["customer_id", "value", "products"]
    assert raw.frame.value.dtype == "float64"
    assert [list(v) for v in raw.frame.products] == [["a"], []]
    assert list(raw.frame.index) == [0, 1]


def test_corrupt_parquet_is_an_input_error(tmp_path: Path) -> None:
    """A file that is not Parquet gives an InputError naming it."""
    path = tmp_path / "reps.parquet"
    path.write_text("rep_id\nR1\n")
    with pytest.raises(InputError) as info:
        read_table(path)
    assert str(info.value).startswith("reps.parquet: not a readable Parquet file: ")


def test_write_run_creates_folder(tmp_path: Path) -> None:
    """A successful run writes every file into the folder and leaves no temporary folder."""
    out = tmp_path / "run"
    write_run(out, {"a.txt": write_text("A"), "sub/b.txt": write_text("B")})
    assert (out / "a.txt").read_text() == "A" and (out / "sub" / "b.txt").read_text() == "B"
    assert siblings(out) == ["run"]


def test_write_run_replaces_previous_run(tmp_path: Path) -> None:
    """A successful run replaces the previous folder as a whole (stale files go)."""
    out = tmp_path / "run"
    write_run(out, {"old.txt": write_text("old"), "a.txt": write_text("1")})
    write_run(out, {"a.txt": write_text("2")})
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    assert (out / "a.txt").read_text() == "2"
    assert siblings(out) == ["run"]


def test_failing_writer_leaves_previous_run_untouched(tmp_path: Path) -> None:
    """A writer that raises leaves the earlier run as it was and no temporary folder behind."""
    out = tmp_path / "run"
    write_run(out, {"a.txt": write_text("1")})
    with pytest.raises(RuntimeError, match="disk full"):
        write_run(out, {"a.txt": write_text("2"), "b.txt": fail})
    assert sorted(p.name for p in out.iterdir()) == ["a.txt"]
    assert (out / "a.txt").read_text() == "1"
    assert siblings(out) == ["run"]


def test_failing_writer_creates_no_folder(tmp_path: Path) -> None:
    """A failed first run leaves no output folder at all."""
    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        write_run(out, {"b.txt": fail})
    assert siblings(out) == []


def test_write_run_refuses_a_file_as_folder(tmp_path: Path) -> None:
    """An output path that is an existing file is an error, and the file is kept."""
    out = tmp_path / "run"
    out.write_text("keep")
    with pytest.raises(InputError):
        write_run(out, {"a.txt": write_text("1")})
    assert out.read_text() == "keep" and siblings(out) == ["run"]


def test_write_file_atomic(tmp_path: Path) -> None:
    """A single file is replaced only when its writer succeeds; no temporary file stays."""
    path = tmp_path / "decisions.csv"
    write_file_atomic(path, write_text("v1"))
    with pytest.raises(RuntimeError):
        write_file_atomic(path, fail)
    assert path.read_text() == "v1"
    write_file_atomic(path, write_text("v2"))
    assert path.read_text() == "v2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decisions.csv"]
