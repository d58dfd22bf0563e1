"""nbgrader settings every single-user server of the class reads (students and instructors).

The hub puts this folder on JUPYTER_CONFIG_PATH (classroom/jupyterhub_config.py); on Kubernetes
the values.yaml mounts this file as /etc/jupyter/nbgrader_config.py. The course's own settings
(course root, what a release contains) stay in course/exercises/nbgrader_config.py.

Environment:
  NM_COURSE_ID    the course id; the same as course/exercises/nbgrader_config.py (nomysticism)
  NM_EXCHANGE     nbgrader's exchange folder, shared by everyone, writable by all
                  (default /srv/nbgrader/exchange)
  NM_STUDENT_ID   set by the hub only where all servers run as one Unix user (the trial mode):
                  nbgrader then files a submission under this id instead of the Unix user name
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = os.environ.get("NM_COURSE_ID", "nomysticism")
c.Exchange.root = os.environ.get("NM_EXCHANGE", "/srv/nbgrader/exchange")
if os.environ.get("NM_STUDENT_ID"):
    c.CourseDirectory.student_id = os.environ["NM_STUDENT_ID"]
