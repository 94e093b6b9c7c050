"""Report sinks: the terminal, Allure results and files CI systems read."""
