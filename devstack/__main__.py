from devstack.runner import main

raise SystemExit(main())
