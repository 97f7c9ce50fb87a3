"""Full accounts: upgrade from anonymous, cart merge on sign-in, verification, profile pages."""
