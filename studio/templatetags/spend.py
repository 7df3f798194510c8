"""{% load spend %}: costs and money in templates, worded by studio/spend/wording.py."""

from django import template

from studio.spend import wording

register = template.Library()

register.filter("money", wording.money)
register.filter("duration", wording.duration)
register.filter("job_cost", wording.job_cost)
register.filter("track_cost", wording.track_cost)
