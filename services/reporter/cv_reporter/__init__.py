"""The weekly reporter: summarise a week of analytics and email it."""
