"""Resident rosters, phone spot-checks (电话抽查) and unannounced visits (随机暗访)."""
