"""One interface to every exchange: CcxtAdapter (testnet and live accounts) and PaperAdapter
(paper accounts, no network). Every order TradeOps sends goes through an ExchangeAdapter."""
