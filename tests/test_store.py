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
