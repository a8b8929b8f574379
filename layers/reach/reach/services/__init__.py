"""Services: the business operations. They take their collaborators as arguments."""
