"""JupyterHub for a class on ONE machine: ``jupyterhub -f classroom/jupyterhub_config.py``.

The hub, the proxy (configurable-http-proxy from npm: ``npm ci --prefix classroom``) and every
student's single-user server run on this machine, in the project's environment (``make install``),
with nbgrader's exchange in a shared folder. course/instructor.md is the guide; on Kubernetes use
classroom/values.yaml instead. Two modes, chosen by NM_HUB_MODE:

``system`` (the default; start the hub as root)
    Students log in with a Linux account (PAMAuthenticator); each server runs as that user, in that
    user's home (LocalProcessSpawner). An admin adding a user on the hub's admin page creates the
    account (``create_system_users``). Students cannot read each other's files.
``trial`` (no system users)
    One shared student password (NM_HUB_PASSWORD, 8+ characters) and, optionally, an instructor
    password (NM_HUB_ADMIN_PASSWORD, 32+) (SharedPasswordAuthenticator). Every server runs as the
    hub's own user, with its home in NM_HUB_HOMES/<name> (SimpleLocalProcessSpawner). Nothing
    separates the students: use it to try the setup, for a workshop among colleagues, and in CI
    (tests/test_classroom.py runs this mode as root).

Environment (all optional except the password in trial mode):
  NM_HUB_ROSTER        file of student user names, one a line (``#`` comments); only they may log in
  NM_HUB_INSTRUCTORS   comma-separated user names: hub admins (they can open any student's server)
  NM_HUB_STATE         where the hub keeps its database, cookie secret and proxy pid (/srv/jupyterhub)
  NM_HUB_HOMES         trial mode: the folder of the students' homes (NM_HUB_STATE/homes)
  NM_EXCHANGE          nbgrader's exchange (/srv/nbgrader/exchange), read by jupyter/nbgrader_config.py
  OMP_NUM_THREADS      CPU threads per student kernel (2): hundreds of students share the cores

Addresses are traitlets options, on the command line or below, e.g.
``--JupyterHub.bind_url=http://127.0.0.1:8000`` (default: all interfaces, port 8000; put TLS in
front, or set ``c.JupyterHub.ssl_cert`` / ``ssl_key``).
"""

import os
import shutil
import sys
from pathlib import Path

c = get_config()  # noqa: F821 (provided by traitlets when JupyterHub loads this file)

HERE = Path(__file__).resolve().parent
MODE = os.environ.get("NM_HUB_MODE", "system")
if MODE not in ("system", "trial"):
    raise ValueError(f"NM_HUB_MODE must be 'system' or 'trial', not {MODE!r} ({__file__})")
STATE = Path(os.environ.get("NM_HUB_STATE", "/srv/jupyterhub"))
STATE.mkdir(parents=True, exist_ok=True)

# --- the hub and its proxy ------------------------------------------------------------------
c.JupyterHub.bind_url = "http://:8000"
c.JupyterHub.db_url = f"sqlite:///{STATE / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(STATE / "jupyterhub_cookie_secret")
# the proxy `npm ci --prefix classroom` installed (package-lock.json pins it), else one on PATH
_proxy = HERE / "node_modules" / ".bin" / "configurable-http-proxy"
c.ConfigurableHTTPProxy.command = [str(_proxy) if _proxy.exists() else
                                   shutil.which("configurable-http-proxy") or "configurable-http-proxy"]
c.ConfigurableHTTPProxy.pid_file = str(STATE / "jupyterhub-proxy.pid")

# --- who may log in -------------------------------------------------------------------------
roster = os.environ.get("NM_HUB_ROSTER")
if roster:
    names = [line.split("#")[0].strip() for line in Path(roster).read_text().splitlines()]
    c.Authenticator.allowed_users = {n for n in names if n}
instructors = {n.strip() for n in os.environ.get("NM_HUB_INSTRUCTORS", "").split(",") if n.strip()}
c.Authenticator.admin_users = instructors  # the admin role: open any student's server to help

# --- the single-user servers ----------------------------------------------------------------
# the hub's own Python: the project's environment (toolkit, JupyterLab, nbgrader, jupyterhub)
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]
c.Spawner.default_url = "/lab"
c.Spawner.ip = "127.0.0.1"  # reached only through the proxy
c.Spawner.http_timeout = 120  # a busy machine at the start of a lesson
c.Spawner.start_timeout = 120
threads = os.environ.get("OMP_NUM_THREADS", "2")
c.Spawner.environment = {
    # nbgrader's exchange and course id for every server: classroom/jupyter/nbgrader_config.py
    "JUPYTER_CONFIG_PATH": str(HERE / "jupyter"),
    "NM_EXCHANGE": os.environ.get("NM_EXCHANGE", "/srv/nbgrader/exchange"),
    "OMP_NUM_THREADS": threads,
    "MKL_NUM_THREADS": threads,
}

if MODE == "system":
    c.JupyterHub.authenticator_class = "pam"
    c.JupyterHub.spawner_class = "localprocess"
    c.LocalAuthenticator.create_system_users = True
else:
    c.JupyterHub.authenticator_class = "shared-password"
    c.SharedPasswordAuthenticator.user_password = os.environ.get("NM_HUB_PASSWORD")
    if not c.SharedPasswordAuthenticator.user_password:
        raise ValueError(f"NM_HUB_MODE=trial needs NM_HUB_PASSWORD (8+ characters) ({__file__})")
    c.SharedPasswordAuthenticator.admin_password = os.environ.get("NM_HUB_ADMIN_PASSWORD")
    if not roster:
        c.Authenticator.allow_all = True  # anyone with the password, under any name
    c.JupyterHub.spawner_class = "simple"
    homes = Path(os.environ.get("NM_HUB_HOMES", STATE / "homes"))
    c.SimpleLocalProcessSpawner.home_dir_template = str(homes / "{username}")
    # all servers share one Unix user, so nbgrader must not file submissions under its name:
    # students submit as their hub name (instructors get none, so they collect every student's)
    c.Spawner.environment["NM_STUDENT_ID"] = lambda spawner: "" if spawner.user.admin else spawner.user.name
    if os.geteuid() == 0:  # Jupyter Server refuses to run as root without it (CI runs as root)
        c.Spawner.args = ["--allow-root"]
