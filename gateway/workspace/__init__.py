"""The workspace for people: the RIEC's and the partners' staff sign in and work in the browser.

Server-rendered pages (Flask + Jinja2) on the same services as the API: every page action is
the service call the API makes, with the same policy decision and the same audit entry, which
names the person alongside the partner.
"""
