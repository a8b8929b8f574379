"""The local console: a web page over ``reach-local serve``'s embedded stack, for trying Reach
without a phone. A development tool only: template.yaml never deploys it, and it shows phone
numbers in full because everything it shows is on this machine."""
