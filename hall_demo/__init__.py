"""Demo, tour, explorer and test harness of the hall kiosk: what runs beside the runtime, never on a terminal."""
