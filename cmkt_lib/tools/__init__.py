"""The course's tooling, not its teaching: nothing in the notebooks' lessons imports it, and no
teaching module of cmkt_lib may (a test checks). Needs the `tools` extra: `pip install -e .[tools]`.

    bench    benchmarks of the library and of every notebook (results/, the README's tables)
    runner   runs one notebook in a fresh kernel and measures it (used by bench)
    student  writes the student versions of the notebooks (solutions replaced by a stub)
    grade    grades submissions with the course's own checks, never trusting printed text
    links    keeps the Colab badges and set-up cells in step with course.py
    course   where the course lives on GitHub
"""
