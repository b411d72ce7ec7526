from sealog.cli import main

main()
