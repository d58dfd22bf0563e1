"""A class on JupyterHub, end to end (issue 17, part 2): classroom/jupyterhub_config.py, for real.

One test starts JupyterHub on 127.0.0.1 (the pip package, and configurable-http-proxy from npm,
installed by ``npm ci --prefix classroom``, which ``make test`` runs) in the config's trial mode:
a shared-password authenticator and SimpleLocalProcessSpawner, so each student gets a home of their
own under a temporary folder and no system user is created. nbgrader's exchange is a temporary
folder too. Then, as in a lesson:

1. the instructor generates and releases one of the course's exercises (nbgrader commands in a
   copy of course/exercises/, as course/instructor.md says);
2. two students log in through the hub's REST API (user name + password -> token), start their
   servers through the hub, and, through the proxy and their own servers: fetch the exercise
   (nbgrader's assignment-list server extension), answer it with the contents API (alice right,
   bob wrong on exercise 1, right on exercise 2) and submit it;
3. the instructor collects and autogrades; each student's score per exercise must be the points
   the notebook's metadata gives the exercises they answered right, and 0 for the wrong one;
4. everything started (hub, proxy, the two servers) is stopped by process id and checked gone,
   also when the test fails (the fixture's teardown).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import psutil
import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = ROOT / "classroom"
COURSE = ROOT / "course" / "exercises"
PROXY = CLASSROOM / "node_modules" / ".bin" / "configurable-http-proxy"
ASSIGNMENT = "04_mordvintsev_2015_deepdream"  # two small exercises, 3 points each
COURSE_ID = "nomysticism"
PASSWORD = "class-of-2026"  # the trial mode's shared student password
STUDENTS = ("alice", "bob")
BIN = str(Path(sys.executable).parent)

# The students' answers, written here (not taken from the reference solution). alice answers both
# exercises right; bob forgets DeepDream's normalisation by mean|g| in exercise 1.
RIGHT = {
    "dream_step": "return (image + step_size * grad / grad.abs().mean()).clamp(0, 1)",
    "octave_sizes": "return [(round(h / scale**i), round(w / scale**i)) for i in reversed(range(octaves))]",
}
ANSWERS = {
    "alice": RIGHT,
    "bob": {**RIGHT, "dream_step": "return (image + step_size * grad).clamp(0, 1)"},
}
# which autograder test cell checks which answer (their grade_ids in the exercise notebook)
TESTS = {"dream_step": "test_dream_step", "octave_sizes": "test_octave_sizes"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


class Hub:
    """A JupyterHub subprocess on 127.0.0.1, and every process id it started."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.state = tmp / "hub"
        self.exchange = tmp / "exchange"
        self.homes = tmp / "homes"
        self.log_path = tmp / "hub.log"
        (tmp / "roster.txt").write_text("# the class\n" + "\n".join(STUDENTS) + "\n")
        self.port, hub_port, api_port = _free_port(), _free_port(), _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
            "NM_HUB_MODE": "trial", "NM_HUB_PASSWORD": PASSWORD,
            "NM_HUB_ROSTER": str(tmp / "roster.txt"), "NM_HUB_STATE": str(self.state),
            "NM_HUB_HOMES": str(self.homes), "NM_EXCHANGE": str(self.exchange),
        }
        cmd = [sys.executable, "-m", "jupyterhub", "-f", str(CLASSROOM / "jupyterhub_config.py"),
               f"--JupyterHub.bind_url={self.url}",
               f"--JupyterHub.hub_bind_url=http://127.0.0.1:{hub_port}",
               f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{api_port}"]
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(cmd, cwd=tmp, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        self.pids = {self.proc.pid}
        self.stopped = False

    def tail(self, n: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-n:]

    def track(self) -> None:
        """Record the hub's children (proxy, single-user servers) and the proxy's pid file."""
        with contextlib.suppress(psutil.NoSuchProcess):
            self.pids |= {p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)}
        pid_file = self.state / "jupyterhub-proxy.pid"
        if pid_file.exists() and pid_file.read_text().strip().isdigit():
            self.pids.add(int(pid_file.read_text()))

    def wait_up(self, timeout: float = 90) -> None:
        t = time.time()
        while time.time() - t < timeout:
            assert self.proc.poll() is None, f"JupyterHub exited ({self.proc.returncode}):\n{self.tail()}"
            with contextlib.suppress(requests.ConnectionError):
                if requests.get(f"{self.url}/hub/api/", timeout=5).ok:
                    self.track()
                    return
            time.sleep(0.5)
        raise AssertionError(f"JupyterHub did not answer at {self.url} in {timeout} s:\n{self.tail()}")

    def stop(self) -> list[int]:
        """SIGTERM the hub (it stops its servers and proxy), then kill by pid whatever is left.

        Returns the pids that were still running after the hub had exited (should be none)."""
        if self.stopped:
            return []
        self.stopped = True
        self.track()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        left = [pid for pid in sorted(self.pids) if _alive(pid)]
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            t = time.time()
            while any(_alive(p) for p in left) and time.time() - t < 10:
                time.sleep(0.2)
        self.log.close()
        return left


@pytest.fixture
def hub(tmp_path):
    assert PROXY.exists(), (f"configurable-http-proxy is not installed in {PROXY.parent}: run "
                            "`npm ci --prefix classroom` (`make test` does)")
    h = Hub(tmp_path)
    try:
        h.wait_up()
        yield h
    finally:
        h.stop()
        still = [pid for pid in sorted(h.pids) if _alive(pid)]
        assert not still, f"processes still running after the teardown: {still}"


def _nbgrader(*args: str, course: Path, env: dict, timeout: float = 300) -> str:
    """An instructor's nbgrader command in the course root (as course/instructor.md says)."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout + proc.stderr


class Student:
    """A student on the hub: logs in with the REST API, then drives their own server through the proxy."""

    def __init__(self, hub: Hub, name: str):
        self.hub, self.name = hub, name
        r = requests.post(f"{hub.url}/hub/api/users/{name}/tokens", timeout=30,
                          json={"auth": {"username": name, "password": PASSWORD}, "note": "test_classroom"})
        assert r.status_code == 201, f"{name} could not log in: {r.status_code} {r.text}"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {r.json()['token']}"
        self.server = f"{hub.url}/user/{name}"
        wrong = requests.post(f"{hub.url}/hub/api/users/{name}/tokens", timeout=30,
                              json={"auth": {"username": name, "password": "not-the-password"}})
        assert wrong.status_code == 403, f"a wrong password got {wrong.status_code}"

    def spawn(self) -> None:
        r = self.http.post(f"{self.hub.url}/hub/api/users/{self.name}/server", timeout=30)
        assert r.status_code in (201, 202), f"{self.name}: spawn -> {r.status_code} {r.text}"

    def wait_ready(self, timeout: float = 120) -> None:
        t = time.time()
        while time.time() - t < timeout:
            model = self.http.get(f"{self.hub.url}/hub/api/users/{self.name}", timeout=30).json()
            if model.get("servers", {}).get("", {}).get("ready"):
                self.hub.track()
                status = self.http.get(f"{self.server}/api/status", timeout=30)
                assert status.ok, f"{self.name}'s server through the proxy: {status.status_code}"
                return
            time.sleep(0.5)
        raise AssertionError(f"{self.name}'s server did not start in {timeout} s:\n{self.hub.tail()}")

    def assignments(self) -> list[dict]:
        r = self.http.get(f"{self.server}/assignments", params={"course_id": COURSE_ID}, timeout=60)
        assert r.ok and r.json()["success"], f"{self.name}: listing assignments: {r.status_code} {r.text[:2000]}"
        return [a for a in r.json()["value"] if a["assignment_id"] == ASSIGNMENT]

    def action(self, action: str) -> None:
        r = self.http.post(f"{self.server}/assignments/{action}", timeout=120,
                           json={"course_id": COURSE_ID, "assignment_id": ASSIGNMENT})
        assert r.ok and r.json()["success"], f"{self.name}: {action}: {r.status_code} {r.text[:3000]}"

    def answer(self, answers: dict[str, str]) -> None:
        """Open the fetched notebook with the contents API, write the answers in it, save it."""
        path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
        r = self.http.get(f"{self.server}/api/contents/{path}", params={"content": 1}, timeout=60)
        assert r.ok, f"{self.name}: the fetched notebook {path} is not in the home: {r.status_code}"
        nb = nbformat.from_dict(r.json()["content"])
        done = set()
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid in answers and cell.metadata["nbgrader"].get("solution"):
                assert "raise NotImplementedError()" in cell.source, f"{gid}: no stub in the released notebook"
                cell.source = cell.source.replace("raise NotImplementedError()", answers[gid])
                done.add(gid)
        assert done == set(answers), f"solution cells not found: {set(answers) - done}"
        r = self.http.put(f"{self.server}/api/contents/{path}", timeout=60,
                          data=json.dumps({"type": "notebook", "format": "json", "content": nb}))
        assert r.ok, f"{self.name}: saving {path}: {r.status_code} {r.text[:1000]}"


@pytest.mark.slow
def test_a_class_on_jupyterhub(hub, tmp_path):
    t0 = time.time()
    # the instructor's course root: a copy of course/exercises/ with the one exercise
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(COURSE / "nbgrader_config.py", course)
    shutil.copytree(COURSE / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    # the instructor's environment: what the hub gives every server (classroom/jupyterhub_config.py)
    teacher = {**hub.env, "JUPYTER_CONFIG_PATH": str(CLASSROOM / "jupyter")}

    # 1. the instructor releases the exercise into nbgrader's exchange
    _nbgrader("generate_assignment", ASSIGNMENT, "--force", course=course, env=teacher)
    _nbgrader("release_assignment", ASSIGNMENT, course=course, env=teacher)
    released = hub.exchange / COURSE_ID / "outbound" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    assert released.is_file(), f"nothing released into the exchange at {released}"
    assert "BEGIN SOLUTION" not in released.read_text()

    # 2. two students log in, start their servers through the hub, fetch, answer and submit
    students = {name: Student(hub, name) for name in STUDENTS}
    with ThreadPoolExecutor(len(students)) as pool:  # both at once, as at the start of a lesson
        list(pool.map(Student.spawn, students.values()))
    for s in students.values():
        s.wait_ready()
    t_up = time.time()
    for name, s in students.items():
        assert [a["status"] for a in s.assignments()] == ["released"], f"{name} does not see the release"
        s.action("fetch")
        assert [a["status"] for a in s.assignments()] == ["fetched"], f"{name}: fetch did not land"
        home_copy = hub.homes / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
        assert home_copy.is_file(), f"the fetched notebook is not in {name}'s own home ({home_copy})"
        s.answer(ANSWERS[name])
        s.action("submit")
        assert any(a["status"] == "submitted" for a in s.assignments()), f"{name}: no submission listed"
    inbound = sorted(p.name.split("+")[0] for p in (hub.exchange / COURSE_ID / "inbound").iterdir())
    assert inbound == sorted(STUDENTS), f"the exchange's inbound holds {inbound}"

    # 3. the instructor collects and autogrades
    _nbgrader("collect", ASSIGNMENT, course=course, env=teacher)
    for name in STUDENTS:
        assert (course / "submitted" / name / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").is_file()
    t_grade = time.time()
    _nbgrader("autograde", ASSIGNMENT, "--create", course=course, env=teacher)
    t_graded = time.time()

    # the expected scores come from the exercise's metadata (points per test cell) and the answers
    source = nbformat.read(COURSE / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    points = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"]
              for c in source.cells if c.metadata.get("nbgrader", {}).get("points")}
    assert set(TESTS.values()) == set(points), f"the exercise's graded cells changed: {sorted(points)}"
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for name in STUDENTS:
            sub = gb.find_submission(ASSIGNMENT, name)
            for answer, test in TESTS.items():
                right = ANSWERS[name][answer] == RIGHT[answer]
                got = gb.find_grade(test, ASSIGNMENT, ASSIGNMENT, name).score
                assert got == (points[test] if right else 0), f"{name}, {test}: {got} points"
            expected = sum(points[t] for a, t in TESTS.items() if ANSWERS[name][a] == RIGHT[a])
            assert (sub.score, sub.max_score) == (expected, sum(points.values())), (name, sub.score)
        scores = {name: gb.find_submission(ASSIGNMENT, name).score for name in STUDENTS}
    assert scores["alice"] == sum(points.values()) and 0 < scores["bob"] < scores["alice"], scores

    # 4. stop everything by process id
    n = len(hub.pids)
    left = hub.stop()
    assert n >= 4, f"expected hub, proxy and two servers among the tracked pids, got {sorted(hub.pids)}"
    assert not left, f"still running after the hub stopped, killed by pid: {left}"
    print(f"release, 2 logins + servers {t_up - t0:.0f} s, autograde {t_graded - t_grade:.0f} s, "
          f"all {time.time() - t0:.0f} s; scores {scores}")


def _load_hub_config(monkeypatch, tmp_path, **env):
    from traitlets.config.loader import PyFileConfigLoader

    for k in ("NM_HUB_MODE", "NM_HUB_PASSWORD", "NM_HUB_ROSTER", "NM_HUB_INSTRUCTORS"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("NM_HUB_STATE", str(tmp_path / "state"))
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return PyFileConfigLoader("jupyterhub_config.py", path=str(CLASSROOM)).load_config()


def test_one_machine_config_modes(monkeypatch, tmp_path):
    """The default (system) mode: Linux accounts, servers as those users; trial needs a password."""
    c = _load_hub_config(monkeypatch, tmp_path, NM_HUB_INSTRUCTORS="ada, grace")
    assert c.JupyterHub.authenticator_class == "pam" and c.JupyterHub.spawner_class == "localprocess"
    assert c.LocalAuthenticator.create_system_users is True
    assert c.Authenticator.admin_users == {"ada", "grace"}
    assert "args" not in c.Spawner, "--allow-root only where every server runs as the hub's (root) user"
    assert c.Spawner.cmd[0] == sys.executable and c.Spawner.environment["JUPYTER_CONFIG_PATH"] == str(CLASSROOM / "jupyter")
    assert (tmp_path / "state").is_dir() and c.JupyterHub.db_url.endswith(str(tmp_path / "state" / "jupyterhub.sqlite"))
    with pytest.raises(ValueError, match="NM_HUB_PASSWORD"):
        _load_hub_config(monkeypatch, tmp_path, NM_HUB_MODE="trial")
    with pytest.raises(ValueError, match="NM_HUB_MODE"):
        _load_hub_config(monkeypatch, tmp_path, NM_HUB_MODE="docker")


def test_kubernetes_values_match_the_one_machine_setup(monkeypatch):
    """values.yaml: the repo2docker image runs the hub's single-user server, with the same nbgrader
    settings and exchange path as the one-machine hub, and the proxy is pinned from npm."""
    import yaml

    values = yaml.safe_load((CLASSROOM / "values.yaml").read_text())
    su = values["singleuser"]
    assert su["cmd"] == "jupyterhub-singleuser" and su["image"]["tag"] not in ("", "latest")
    nbgrader_config = su["extraFiles"]["nbgrader-config"]
    assert nbgrader_config["mountPath"] == "/etc/jupyter/nbgrader_config.py"
    assert nbgrader_config["stringData"] == (CLASSROOM / "jupyter" / "nbgrader_config.py").read_text(), (
        "values.yaml's copy of classroom/jupyter/nbgrader_config.py differs from the file")
    from traitlets.config.loader import PyFileConfigLoader

    for k in ("NM_EXCHANGE", "NM_COURSE_ID", "NM_STUDENT_ID"):
        monkeypatch.delenv(k, raising=False)
    nb = PyFileConfigLoader("nbgrader_config.py", path=str(CLASSROOM / "jupyter")).load_config()
    mounts = {m["mountPath"] for m in su["storage"]["extraVolumeMounts"]}
    assert nb.Exchange.root in mounts, (nb.Exchange.root, mounts)
    course = PyFileConfigLoader("nbgrader_config.py", path=str(COURSE)).load_config()
    assert nb.CourseDirectory.course_id == course.CourseDirectory.course_id == COURSE_ID
    assert "student_id" not in nb.CourseDirectory, "only the trial mode files submissions by NM_STUDENT_ID"
    assert values["hub"]["config"]["KubeSpawner"]["notebook_dir"] == su["storage"]["homeMountPath"]
    assert "binder" in (CLASSROOM / "build-image.sh").read_text()
    package = json.loads((CLASSROOM / "package.json").read_text())
    lock = json.loads((CLASSROOM / "package-lock.json").read_text())
    pinned = package["dependencies"]["configurable-http-proxy"]
    assert pinned[0].isdigit(), f"pin configurable-http-proxy exactly, not {pinned!r}"
    assert lock["packages"]["node_modules/configurable-http-proxy"]["version"] == pinned
