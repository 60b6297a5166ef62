"""Persons' identities and pseudonyms.

The vault is the only place a BSN or a name exists, and only encrypted. Everything outside it
carries a subject id, a per-recipient pseudonym or an audit pseudonym; plaintext comes out only
through an explicit :meth:`IdentityVault.reveal`.
"""
