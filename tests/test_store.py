import subprocess
import sys

from finevidbench.store import AnswerStore, answer_key


def test_keys_change_with_everything_that_changes_an_answer():
    base = answer_key("m", "q1", "p", {"max_new_tokens": 16})
    assert base == answer_key("m", "q1", "p", {"max_new_tokens": 16})
    others = {
        answer_key("m2", "q1", "p", {"max_new_tokens": 16}),
        answer_key("m", "q2", "p", {"max_new_tokens": 16}),
        answer_key("m", "q1", "p2", {"max_new_tokens": 16}),
        answer_key("m", "q1", "p", {"max_new_tokens": 32}),
    }
    assert base not in others and len(others) == 4


def test_answers_survive_a_killed_writer(tmp_path):
    path = tmp_path / "answers.sqlite"
    script = f"""
import os, signal
from finevidbench.store import AnswerStore
store = AnswerStore({str(path)!r})
for i in range(50):
    store.put(f"k{{i}}", f"q{{i}}", f"answer {{i}}")
os.kill(os.getpid(), signal.SIGKILL)
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == -9
    store = AnswerStore(path)
    assert len(store) == 50 and store.get("k49") == "answer 49" and store.get("missing") is None


def test_an_unreadable_store_is_moved_aside_never_deleted(tmp_path):
    from finevidbench.store import AnswerStore

    path = tmp_path / "answers.sqlite"
    garbage = b"this is not a database, but someone's bytes " * 100
    path.write_bytes(garbage)
    store = AnswerStore(path)
    assert store.moved_aside is not None and store.moved_aside.read_bytes() == garbage
    store.put("k", "q1", "A")
    assert store.get("k") == "A" and len(store) == 1


def test_an_out_that_cannot_be_written_is_one_line_and_no_traceback(tmp_path, run_make_eval):
    blocker = tmp_path / "a_file"
    blocker.write_text("OUT must be a folder; this path lies under a file, which no user can write into")
    result = run_make_eval("--model", "random", "--data", "mini", "--out", blocker / "run")
    assert result.returncode == 2 and "cannot be written" in result.stderr and "Traceback" not in result.stderr
    assert "fix: pass OUT= a writable folder" in result.stderr
