"""KPIs and staffing: the numbers a contact center is run by (DESIGN.md section 5)."""
