from artifact_gc.cli import main

main()
