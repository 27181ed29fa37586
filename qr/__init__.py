"""QR codes and printable posters for sites. Pure functions; imports nothing of survey/."""
