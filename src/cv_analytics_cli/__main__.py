import sys

from cv_analytics_cli.main import main

sys.exit(main())
