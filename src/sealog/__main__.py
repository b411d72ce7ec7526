from sealog.cli import program

program()
