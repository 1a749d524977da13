"""The activity report: any period and scope, breakdowns, small numbers protected."""
