"""The only package that talks to Evolution API: webhooks in, REST calls out, simulator."""
