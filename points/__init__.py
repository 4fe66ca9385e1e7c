"""Points: the double-entry ledger, benefits and redemption (以服务换福利)."""
