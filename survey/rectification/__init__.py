"""整改: every bad rating is verified, rectified within working-day deadlines, followed up
(回访) and, when malicious, appealed (申诉), the way 政务服务"好差评" works (issue 18).

It reads answers (responses) and calls (checks), and the dashboard (stats) shows it, so it
sits between checks and stats (docs/ARCHITECTURE.md).
"""
