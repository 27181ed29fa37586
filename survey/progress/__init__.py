"""进度: a project's milestones (进度标准) per kind, the counties' milestone records per site
with their evidence, the city's confirmations, the monthly county reports and the warnings
when progress falls behind time progress."""
