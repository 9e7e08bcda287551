"""`__main__`-defined classes: through a second interpreter and a spawned child process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

_CLASSES = """
import logging, sys, threading
from suitkaise import cerial

class Base:
    kind = "base"
    def greet(self):
        return f"hello from {self.kind}"

class Account(Base):
    kind = "account"
    def __init__(self, owner, balance):
        self.owner = owner
        self.__balance = balance
        self.lock = threading.RLock()
        self.lock.acquire()
        self.log = logging.getLogger("account." + owner)
        self.log.setLevel(logging.INFO)
        h = logging.StreamHandler(sys.stdout)
        h.setFormatter(logging.Formatter("LOG %(name)s %(message)s"))
        self.log.addHandler(h)
        self.fee = lambda amount: round(amount * 0.01, 2)
    @property
    def balance(self):
        return self.__balance
    def __secret(self):
        return self.__balance * 2
    def doubled(self):
        return self.__secret()
    def __eq__(self, other):
        return isinstance(other, Account) and other.owner == self.owner
    def __hash__(self):
        return hash(self.owner)
    def __repr__(self):
        return f"Account({self.owner!r})"
"""


def _run(script: Path, *args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_main_class_loads_in_another_interpreter(tmp_path: Path) -> None:
    producer = tmp_path / "producer.py"
    producer.write_text(
        _CLASSES
        + textwrap.dedent("""
        if __name__ == "__main__":
            a = Account("ann", 100)
            open(sys.argv[1], "wb").write(cerial.serialize(a, key=b"k"))
        """)
    )
    consumer = tmp_path / "consumer.py"
    consumer.write_text(
        "import sys\nfrom suitkaise import cerial\n"  # no Account class here
        "acct = cerial.deserialize(open(sys.argv[1], 'rb').read(), key=b'k')\n"
        "print(repr(acct), acct.balance, acct.doubled(), acct.greet(), acct.fee(250))\n"
        "print(acct == cerial.deserialize(cerial.serialize(acct)))\n"
        "print([c.__name__ for c in type(acct).__mro__], acct.lock._is_owned())\n"
        "acct.log.info('works')\n"
    )
    payload = tmp_path / "acct.bin"
    _run(producer, str(payload))
    out = _run(consumer, str(payload)).splitlines()
    assert out == [
        "Account('ann') 100 200 hello from account 2.5",
        "True",
        "['Account', 'Base', 'object'] True",
        "LOG account.ann works",
    ]


def test_main_class_through_spawned_child(tmp_path: Path) -> None:
    script = tmp_path / "spawn_main.py"
    script.write_text(
        _CLASSES
        + textwrap.dedent("""
        import multiprocessing as mp

        def child(payload, q):
            acct = cerial.deserialize(payload, key=b"run-key")
            acct.log.info("in child")
            q.put(cerial.serialize((repr(acct), acct.balance, acct.doubled(), acct.greet(),
                                    acct.fee(100), acct.lock._is_owned(), acct), key=b"run-key"))

        if __name__ == "__main__":
            ctx = mp.get_context("spawn")
            q = ctx.Queue()
            p = ctx.Process(target=child, args=(cerial.serialize(Account("bo", 7), key=b"run-key"), q))
            p.start()
            try:
                result = cerial.deserialize(q.get(timeout=60), key=b"run-key")
            finally:
                p.join(timeout=60)
                if p.is_alive():
                    p.kill()
                    p.join()
            print(result[:6])
            back = result[6]
            print(back == Account("bo", 1), back.balance)
            sys.stdout.flush()
        """)
    )
    out = _run(script).splitlines()
    assert "LOG account.bo in child" in out
    assert "(\"Account('bo')\", 7, 14, 'hello from account', 1.0, True)" in out
    assert "True 7" in out
