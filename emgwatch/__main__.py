from emgwatch.cli import main

raise SystemExit(main())
