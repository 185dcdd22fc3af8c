from dqm.cli import main

main()
