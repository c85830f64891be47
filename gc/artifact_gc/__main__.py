from artifact_gc.cli.app import main

main()
