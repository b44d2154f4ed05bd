from shopfunnel.cli import main

raise SystemExit(main())
