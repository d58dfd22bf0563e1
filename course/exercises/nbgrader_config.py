"""nbgrader configuration: this folder (course/exercises/) is the course root.

Assignments are the folders in source/, one per notebook (source/<notebook stem>/<stem>.ipynb).
`make assignments` writes the student versions to release/. See course/instructor.md.
"""

import os

c = get_config()  # noqa: F821 (provided by traitlets when nbgrader loads this file)

c.CourseDirectory.course_id = "nomysticism"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "source"
c.CourseDirectory.release_directory = "release"
# release only notebooks and small data files, never run outputs or checkpoints
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "_outputs", "*.pt", "*.ckpt"]
# generate_assignment: solution regions -> raise NotImplementedError(), as the tests expect
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"
