from reviewbot.cli import entry

raise SystemExit(entry())
