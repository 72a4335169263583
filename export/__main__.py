from export.convert import main

raise SystemExit(main())
