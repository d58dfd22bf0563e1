"""The Markdown tables every bench script prints (``from _table import row, table``; bench scripts
run as ``python bench/<name>.py``, so this folder is on ``sys.path``)."""


def row(*cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def table(head, rows) -> None:
    print(row(*head))
    print(row(*["---"] * len(head)))
    for r in rows:
        print(row(*r))
    print()
