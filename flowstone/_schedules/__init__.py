"""Schedules and sensors: assets materialized on a cron or when something new appears."""
