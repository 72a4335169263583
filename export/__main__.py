import sys

if sys.argv[1:2] == ["lighthead"]:
    from export.lighthead import main

    raise SystemExit(main(sys.argv[2:]))
from export.convert import main

raise SystemExit(main())
